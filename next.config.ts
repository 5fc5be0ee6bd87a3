/**
 * Next.js settings. Importing the config module here makes a bad Torpor setting fail `next build`
 * and `next start` with a message naming the variable, instead of failing the first request.
 */
import type { NextConfig } from "next";
import { getConfig } from "./src/core/config";

getConfig();

const nextConfig: NextConfig = {
  // Native and Node-only packages the runtime loads: required at run time, never bundled.
  serverExternalPackages: ["better-sqlite3", "zstd-napi", "s3rver", "e2b", "inngest", "@aws-sdk/client-s3", "tar-stream"],
  poweredByHeader: false,
  // The app runs on loopback offline; Next's image optimiser and telemetry have nothing to do here.
  images: { unoptimized: true },
  typescript: { tsconfigPath: "tsconfig.json" },
};

export default nextConfig;
