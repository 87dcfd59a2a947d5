import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  // PGlite loads its WebAssembly and data files from its package folder, and pg has optional
  // native bindings: both stay plain Node requires instead of being bundled.
  serverExternalPackages: ['@electric-sql/pglite', 'pg'],
  poweredByHeader: false,
  // The page works without the service (DESIGN: annotating never depends on predictions),
  // so nothing is prerendered from it at build time.
  reactStrictMode: true,
};

export default nextConfig;
