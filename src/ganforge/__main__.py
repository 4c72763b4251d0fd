from ganforge.cli.app import main

main()
