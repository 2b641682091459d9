"""The ground floor every other package may import, and which imports none of them.

lakehouse_core.settings   every environment variable the product reads, typed, in one object
lakehouse_core.marquez    which Marquez the product talks to, and the one HTTP client to it
"""
