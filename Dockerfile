# One image for both apps. The default command starts the gateway; docker-compose.yml runs the
# worker (node dist/apps/worker/src/main.js) and the migrations (node dist/apps/worker/src/migrate.js)
# from the same image with another command.
#
#   docker build -t notification-service .
#   docker run -e JWT_SECRET=... -e DATABASE_URL=... -p 3000:3000 notification-service

# --- deps: every dependency, dev ones included, for the build ------------------------------------
# Node.js 22, the maintained LTS line (20 reached its end of life in April 2026); the code also runs on 20.19+.
FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# --- build: swc compiles apps/ and libs/ into dist/ (see the "build" script) ----------------------
FROM deps AS build
COPY .swcrc ./
COPY apps ./apps
COPY libs ./libs
RUN npm run build

# --- runtime: production dependencies and dist/ only ----------------------------------------------
FROM node:22-bookworm-slim AS runtime
# Also makes the config refuse the development JWT_SECRET: a container must be given a real one.
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The files stay owned by root and the app runs as the image's unprivileged `node` user, so a
# compromised process cannot rewrite its own code.
USER node
# The gateway's default PORT; the worker listens on no port.
EXPOSE 3000
# The healthchecks are in docker-compose.yml, per service: the gateway and the worker need
# different ones and share this image.
CMD ["node", "dist/apps/gateway/src/main.js"]
