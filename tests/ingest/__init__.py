"""Tests of the ingestion adapters."""
