// ESLint with Next's rules (core web vitals and TypeScript), run by `make lint`.
import nextVitals from "eslint-config-next/core-web-vitals";
import nextTs from "eslint-config-next/typescript";

const config = [
  ...nextVitals,
  ...nextTs,
  { ignores: [".next/**", "node_modules/**", "next-env.d.ts", "e2e/**/*.py"] },
];

export default config;
