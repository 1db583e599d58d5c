// express-hello: the smallest Express app HiveMind deploys.
// `/` answers with a fixed sentence (the end-to-end tests compare it) and `/healthz` with `ok`.
"use strict";

const express = require("express");

const app = express();
const port = Number(process.env.PORT || 3000);
// HOST lets the platform choose the interface (HiveMind's local cloud gives every instance its
// own 127.x.y.z address); 0.0.0.0 is right on a server behind a load balancer.
const host = process.env.HOST || "0.0.0.0";

app.get("/", (req, res) => {
  res.type("text/plain").send("Hello from express-hello on HiveMind!");
});

app.get("/healthz", (req, res) => {
  res.type("text/plain").send("ok");
});

const server = app.listen(port, host, () => {
  console.log(`express-hello listening on http://${host}:${port}`);
});

// Stop cleanly when the supervisor (systemd or HiveMind's own) asks.
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
