import { defaultClientConditions, defineConfig } from "vite";

// base "./": every asset URL is relative, so the built site works from any folder of any static host.
// The @tapegrad/source condition makes the workspace packages resolve to their TypeScript sources.
export default defineConfig({
  base: "./",
  resolve: { conditions: ["@tapegrad/source", ...defaultClientConditions] },
  worker: { format: "es" },
  build: { target: "es2022", outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1024 },
  server: { host: "127.0.0.1" },
  preview: { host: "127.0.0.1" },
});
