import postgres from 'postgres';
const pipe = process.argv[2];
const sql = postgres('postgres://postgres@127.0.0.1:6499/postgres', { max: 8, prepare: false, onnotice: () => {}, ...(pipe === 'x' ? {} : { max_pipeline: Number(pipe) }) });
await sql`CREATE TABLE IF NOT EXISTS pgbt (id serial primary key, n int)`;
const t = setTimeout(() => { console.log('HUNG', pipe); process.exit(1); }, 10000);
for (let round = 0; round < 20; round++) {
  await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? sql`SELECT 1` : sql`INSERT INTO pgbt (n) VALUES (${i}) RETURNING id`).then(() => sql`SELECT pg_notify(c, p) FROM unnest(${['x']}::text[], ${[String(i)]}::text[]) AS n(c, p)`)));
}
clearTimeout(t); console.log('OK', pipe); await sql.end();
