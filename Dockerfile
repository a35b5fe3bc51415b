# Dockerfile - the spoke image: the agent and Debian's HAProxy, which the
# agent starts and supervises (--manage-haproxy), running as a non-root user.
#   docker build -t spoke:0.1.0 .     (the tag manifests/deploy.yaml runs)
# Two stages: `build` compiles the agent with the Debian packages that
# `make deps` installs; the runtime stage has no compiler, no headers and no
# make, only HAProxy and the shared libraries the agent links.
# e2e/test_dockerfile.py lints this file against the Makefile and the tree.

FROM debian:bookworm AS build
ARG DEBIAN_FRONTEND=noninteractive
# The build packages of scripts/deps, without its test and lint tools.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        build-essential pkg-config \
        libcurl4-openssl-dev libjansson-dev libev-dev libyaml-dev libssl-dev libcrypt-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY scripts/embed scripts/embed
COPY haproxy/ haproxy/
COPY agent/src/ agent/src/
RUN make BUILD=release build/release/spoke

FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive
# HAProxy from Debian (2.6 in bookworm), the agent's shared libraries, CA
# certificates for the API server and external auth over HTTPS. One numeric
# user, so that Kubernetes' runAsNonRoot can verify it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        haproxy ca-certificates \
        libcurl4 libjansson4 libev4 libyaml-0-2 libssl3 libcrypt1 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 spoke \
 && useradd --system --uid 10001 --gid spoke --home-dir /var/lib/spoke \
        --no-create-home --shell /usr/sbin/nologin spoke \
 && install -d -o spoke -g spoke -m 0750 /var/lib/spoke
COPY --from=build /src/build/release/spoke /usr/local/bin/spoke
USER 10001:10001
# HAProxy's HTTP and HTTPS ports when run as below (a non-root user cannot
# bind 80 and 443); the Service maps 80 and 443 onto them.
EXPOSE 8080 8443
ENTRYPOINT ["/usr/local/bin/spoke"]
CMD ["--state-dir=/var/lib/spoke", "--manage-haproxy", "--http-port=8080", "--https-port=8443"]
