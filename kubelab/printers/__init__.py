"""Printing objects as kubectl does: tables (tabwriter layout), -o json/yaml/name/jsonpath, describe."""
