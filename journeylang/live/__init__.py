"""Live stage: the ingestion service (`journey serve`), the delivery worker (`journey deliver`),
their channel adapters and their configuration file."""
