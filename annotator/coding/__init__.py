"""Coding: the coders' queue and claims (more of the coding domain moves here from services and
selectors, see ../shared/design/architecture.md)."""
