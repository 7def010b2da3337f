// The console in Debian's Chromium (Playwright's own browser download cannot work on these
// machines): infra/local/console_test.sh runs it against the local stack, with
// CONSOLE_FIXTURE naming the customers seeded for it.
import { defineConfig } from "@playwright/test";

export default defineConfig({
  testDir: ".",
  testMatch: "*.spec.js",
  // The Chinese and English runs side by side, each with customers of its own.
  workers: 2,
  fullyParallel: true,
  timeout: 300_000,
  expect: { timeout: 45_000 },
  reporter: [["list"]],
  outputDir: process.env.CONSOLE_RESULTS || "test-results",
  use: {
    browserName: "chromium",
    launchOptions: {
      executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
      // Chromium's background services would knock on a closed network at every start.
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    },
    viewport: { width: 1100, height: 800 },
    trace: "retain-on-failure",
  },
});
