/** The tests' headless Chromium: the finder and launcher the console screenshots script shares (bench/lib/browser.ts). */
export { type ChromiumBinary, bundledChromium, findChromium, launchChromium } from "../../bench/lib/browser.js";
