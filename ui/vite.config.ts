import { defineConfig } from "vite";

// The build lands in internal/web/assets, where the Go binary embeds it.
// Hashed file names let the server cache them for a year; index.html is
// served with no-cache. The build is deterministic (CI rebuilds and diffs).
export default defineConfig({
  base: "/",
  build: {
    outDir: "../internal/web/assets",
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2022",
    sourcemap: false,
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
    chunkSizeWarningLimit: 800,
  },
  server: {
    // `npm run dev` talks to a pythonide on :8080 for the API and /ws.
    proxy: {
      "/api": "http://127.0.0.1:8080",
      "/readyz": "http://127.0.0.1:8080",
      "/health": "http://127.0.0.1:8080",
      "/ws": { target: "ws://127.0.0.1:8080", ws: true },
    },
  },
});
