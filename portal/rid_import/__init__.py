"""Importing a RID document: SECAS uploads a RID (PDF, DOCX or plain text), reviews what the portal read from it,
section by section beside the lines it came from, and confirms; only then does the portal save it, as a new release
or a new RID version of a draft. The same reader runs on the command line (`flask rid import FILE`).

extract.py turns the file into numbered lines within fixed limits; reader.py reads those lines into the RID's data
(the shape of rid_snapshot, with names instead of database ids); services.py saves a reading.
"""
