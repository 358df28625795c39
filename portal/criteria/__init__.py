"""The criterion page, in one package: each criterion's owner (DCC or SECAS) uploads evidence files, writes a
statement and submits (evidence_*); OpsG assesses criteria and asks the owner for more evidence (models,
services, views); everyone reads and downloads. Files are stored by hash (storage, filetypes)."""
