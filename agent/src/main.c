/* main.c - the spoke agent's entry point: parse the flags, run the agent. */
#include <stdio.h>

#include "agent.h"
#include "options.h"

int main(int argc, char **argv)
{
    struct options opts;
    switch (options_parse(argc, argv, &opts, stdout, stderr)) {
    case OPTIONS_EXIT_OK:
        return 0;
    case OPTIONS_EXIT_ERROR:
        return 2;
    case OPTIONS_RUN:
        break;
    }
    return agent_run(&opts);
}
