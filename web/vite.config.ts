import { defineConfig } from "vite";

// Plain Vite: its own transformer turns JSX into Preact calls, so no framework plugin is needed.
// Each dependency gets a chunk of its own: it stays cached across releases of the app's code, and the
// build output shows what each one weighs. uPlot is loaded only with the admins' dashboard.
export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: true,
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [
            { name: "preact", test: /node_modules[\\/]preact[\\/]/ },
            { name: "oidc-client-ts", test: /node_modules[\\/](oidc-client-ts|jwt-decode)[\\/]/ },
            { name: "uplot", test: /node_modules[\\/]uplot[\\/]/ },
          ],
        },
      },
    },
  },
});
