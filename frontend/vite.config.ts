import { defineConfig } from "vitest/config";

// Bergamot's dashboard: plain Preact + TSX compiled by esbuild (no plugin).
// `npm run dev` proxies the API to a running `bergamot run` (BERGAMOT_URL).
const backend = process.env.BERGAMOT_URL ?? "http://localhost:8080";

export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2020",
    sourcemap: false,
    chunkSizeWarningLimit: 300,
  },
  server: {
    proxy: { "/graphql": { target: backend, ws: true, changeOrigin: true } },
  },
  test: {
    environment: "happy-dom",
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
