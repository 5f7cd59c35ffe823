import { defineConfig } from 'drizzle-kit';

// Generation only needs the schema; `npm run db:migrate` applies migrations with the app's config.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './drizzle',
});
