// whatsapp-web.js pulls puppeteer; never download a browser: Debian's chromium is used (CHROMIUM_PATH).
module.exports = { skipDownload: true };
