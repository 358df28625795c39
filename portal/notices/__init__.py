"""The go-live notice: drafted when a release goes Live; SECAS edits and publishes it; everyone may read it."""
