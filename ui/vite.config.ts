import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `npm run dev` proxies to a running lineage UI server (python -m lineage_ui serve), which proxies Marquez.
const server = process.env.LINEAGE_UI_DEV_TARGET ?? "http://127.0.0.1:3002";

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 2000 },
  server: { proxy: { "/api": server, "/lineage-ui": server } },
});
