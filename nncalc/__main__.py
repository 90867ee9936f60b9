from nncalc.cli import main

main()
