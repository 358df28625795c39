"""Evidence files against acceptance criteria. Each criterion's owner (DCC or SECAS) uploads; all roles download."""
