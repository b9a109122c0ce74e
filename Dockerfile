# Both production binaries in one image; fly.toml runs each as its own
# process group, deploy/ runs the same binaries under systemd.
#
#   podman build -t serverpulse .             (or docker build)
#   podman build --target symbols -o syms .   the binaries' debug symbols
#
# Layers: cargo-chef turns the manifests into a recipe, the dependencies
# are built from it in a layer of their own (rebuilt only when Cargo.toml
# or Cargo.lock change), then only the workspace's own crates are compiled.
FROM docker.io/library/rust:1.95-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json \
      -p serverpulse-web -p serverpulse-ingester
COPY . .
# The release profile keeps line tables (for backtraces and profilers):
# they go to separate .debug files, and the shipped binaries are stripped.
RUN cargo build --release --locked -p serverpulse-web -p serverpulse-ingester --bins \
    && mkdir -p /out \
    && for bin in serverpulse-web serverpulse-ingester; do \
         objcopy --only-keep-debug "target/release/$bin" "/out/$bin.debug" \
         && objcopy --strip-all --add-gnu-debuglink="/out/$bin.debug" "target/release/$bin" "/out/$bin"; \
       done

# `--target symbols -o DIR` exports the debug symbols beside nothing else.
FROM scratch AS symbols
COPY --from=build /out/serverpulse-web.debug /out/serverpulse-ingester.debug /

FROM docker.io/library/debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/* \
    && groupadd --system --gid 10001 serverpulse \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
         --home-dir /nonexistent --shell /usr/sbin/nologin serverpulse
COPY --from=build /out/serverpulse-web /out/serverpulse-ingester /usr/local/bin/
USER 10001:10001
ENV LOG_FORMAT=json
# 8080: the web's public port; 9090 (web) and 8081 (ingester): ops ports.
EXPOSE 8080 9090 8081
CMD ["serverpulse-web", "serve"]
