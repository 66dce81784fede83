"""The account database (models, migrations, repositories, the importer, demo data) and the Redis lock keys."""
