-- Second database for the appservice, beside Synapse's (POSTGRES_DB).
CREATE DATABASE visio_appservice OWNER visio;
