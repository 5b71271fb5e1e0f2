from selfplay.cli import main

main()
