from migrate.shell.start import main

main()
