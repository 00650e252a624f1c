import { defineConfig } from "drizzle-kit";

// drizzle-kit writes flat NNNN_name.sql files into migrations/, which is what
// `wrangler d1 migrations apply` and `readD1Migrations` read.
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./migrations",
});
