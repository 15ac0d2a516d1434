# One zgate member. docker-compose.yml runs three of them as a cluster.
FROM node:20
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build-client-browser.mjs ./scripts/
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund
# HTTP API, peer links
EXPOSE 8080 9080
VOLUME /data
ENTRYPOINT ["node", "dist/cli/main.js", "serve"]
CMD ["--http", "0.0.0.0:8080", "--data-dir", "/data"]
