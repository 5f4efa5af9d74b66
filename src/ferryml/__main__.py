"""`python -m ferryml` runs the `ferry` command."""

from ferryml.cli import main

if __name__ == "__main__":
    main()
