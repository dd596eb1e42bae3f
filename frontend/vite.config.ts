import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";

// `npm run dev` proxies the API to a local `aegis serve`.
const backend = process.env.AEGIS_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react(), tailwindcss()],
  server: {
    proxy: {
      "/api": backend,
      "/health": backend,
    },
  },
  build: {
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});
