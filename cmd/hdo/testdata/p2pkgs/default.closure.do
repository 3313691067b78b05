# .closure as a shell rule in the style of p2pkgs. $1 is NAME/.closure.
dir=${1%/.closure}
deps=
if [ -e "$dir/run-deps" ]; then
	redo-ifchange "$dir/run-deps"
	deps=$(sed -e 's/#.*//' "$dir/run-deps")
else
	redo-ifcreate "$dir/run-deps"
fi
closures=
for d in $deps; do
	closures="$closures $dir/$d/.closure"
done
[ -z "$closures" ] || redo-ifchange $closures
for d in $deps; do
	echo "./pkg/$(basename "$d")/.pkg.tar.gz"
	cat "$dir/$d/.closure"
done | sort -u
