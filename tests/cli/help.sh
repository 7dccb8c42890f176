. "$TESTDIR/lib.sh"
# placeholder: filled in below
exit 77
