"""Batch coding: many charts through the service on a process pool or a dask cluster."""
