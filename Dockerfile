# Both binaries in one image; fly.toml runs each as its own process group.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p serverpulse-web -p serverpulse-ingester \
    && cp target/release/serverpulse-web target/release/serverpulse-ingester /usr/local/bin/

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 serverpulse
COPY --from=build /usr/local/bin/serverpulse-web /usr/local/bin/serverpulse-ingester /usr/local/bin/
USER serverpulse
ENV LOG_FORMAT=json
# 8080: the web's public port; 9090 (web) and 8081 (ingester): ops ports.
EXPOSE 8080 9090 8081
CMD ["serverpulse-web", "serve"]
