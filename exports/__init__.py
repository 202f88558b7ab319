"""Exports: the inbox's cases and items as CSV and XLSX, and per-item decisions as DSA statements of reasons."""
