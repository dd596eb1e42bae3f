# Aegis server image: a release build on Debian, run as an unprivileged user,
# serving the dashboard built in its own stage.
FROM node:20-bookworm-slim AS dashboard
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npx tsc -b && npx vite build

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
COPY --from=dashboard /src/frontend/dist /usr/share/aegis/dashboard
COPY docker/entrypoint.sh /usr/local/bin/aegis-entrypoint
ENV AEGIS_CONFIG_DIR=/etc/aegis/config AEGIS_DATA_DIR=/var/lib/aegis AEGIS_HTTP__HOST=0.0.0.0 \
    AEGIS_HTTP__FRONTEND_DIR=/usr/share/aegis/dashboard
USER aegis
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD curl -fsS http://127.0.0.1:8000/health || exit 1
ENTRYPOINT ["aegis-entrypoint"]
CMD ["serve"]
