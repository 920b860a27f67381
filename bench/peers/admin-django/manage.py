#!/usr/bin/env python
"""manage.py of the Django peer of `bench/run --admin` (migrate, createsuperuser ...)."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adminsite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
