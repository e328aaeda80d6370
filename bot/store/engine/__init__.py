"""The database engines behind the store: one way to open a database (``open``), the
interface (``base``), SQLite and PostgreSQL, the SQL dialects, the schema and its
migrations, locks between processes, and copying a whole database."""
