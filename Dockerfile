# Aegis server image: a release build on Debian, run as an unprivileged user.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin aegis

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/aegis --create-home aegis
COPY --from=build /src/target/release/aegis /usr/local/bin/aegis
COPY config /etc/aegis/config
COPY docker/entrypoint.sh /usr/local/bin/aegis-entrypoint
ENV AEGIS_CONFIG_DIR=/etc/aegis/config AEGIS_DATA_DIR=/var/lib/aegis AEGIS_HTTP__HOST=0.0.0.0
USER aegis
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD curl -fsS http://127.0.0.1:8000/health || exit 1
ENTRYPOINT ["aegis-entrypoint"]
CMD ["serve"]
