"""Where runs are kept: the database, the hash-chained audit log, its signed anchors, the run store.

Everything at rest here is either ids, hashes, codes, offsets and versions, or sealed (encrypted)
with a key that lives outside the database.
"""
