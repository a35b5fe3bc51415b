/* version.h - the agent's version string. */
#ifndef SPOKE_VERSION_H
#define SPOKE_VERSION_H
#define SPOKE_VERSION "0.1.0"
#endif
