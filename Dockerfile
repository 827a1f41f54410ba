# Kinerja's four binaries in a Debian 12 image, for docker-compose.yml.
# Build stage: the same packages and build as `make` on a Debian 12 machine, then
# `cmake --install` with the prefix /usr into /out (docs/OPERATIONS.md "Install"): the
# image gets the binaries and /etc/kinerja/kinerja.conf as an installed host does (key
# files under /etc/kinerja/curve and /etc/kinerja/web, mounted by docker-compose.yml).
FROM debian:12 AS build
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      build-essential cmake pkg-config libzmq3-dev libhiredis-dev libmsgpack-dev libpq-dev libinih-dev \
      libjansson-dev libcurl4-openssl-dev libmicrohttpd-dev libsodium-dev libqrencode-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake cmake
COPY common common
COPY broker broker
COPY workers workers
COPY tools tools
COPY web web
COPY schemas schemas
COPY bench bench
COPY config config
COPY examples examples
COPY packaging packaging
COPY man man
COPY docs/OPERATIONS.md docs/OPERATIONS.md
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKINERJA_WERROR=OFF -DCMAKE_INSTALL_PREFIX=/usr \
    && cmake --build build -j"$(nproc)" --target kinerja kinerja-broker kinerja-worker kinerja-web \
    && DESTDIR=/out cmake --install build

# Runtime stage: the shared libraries only (curl for the health checks), a non-root user;
# from the install the binaries, the config and its key directories (no systemd units,
# man pages or logrotate in a container).
FROM debian:12-slim
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libzmq5 libhiredis0.14 libmsgpackc2 libpq5 libinih1 libjansson4 libcurl4 libmicrohttpd12 libsodium23 libqrencode4 \
      ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/kinerja --create-home kinerja
COPY --from=build /out/usr/bin/ /usr/bin/
# the config holds secrets (0640): readable by the daemons' group
COPY --from=build --chown=root:kinerja /out/etc/kinerja/ /etc/kinerja/
ENV KINERJA_CONFIG=/etc/kinerja/kinerja.conf
USER kinerja
WORKDIR /var/lib/kinerja
EXPOSE 5570 5571 8080 9570 9571 9572 9573 9574 9575
CMD ["kinerja", "--help"]
