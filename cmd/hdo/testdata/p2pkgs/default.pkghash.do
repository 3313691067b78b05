# .pkghash as shell rules in the style of p2pkgs, for the benchmark that
# compares them with hdo's built-in rule. $1 is NAME/.pkghash.
dir=${1%/.pkghash}
redo-ifchange "$dir/build"
deps=
for f in build-deps run-deps; do
	if [ -e "$dir/$f" ]; then
		redo-ifchange "$dir/$f"
		deps="$deps $(sed -e 's/#.*//' "$dir/$f")"
	else
		redo-ifcreate "$dir/$f"
	fi
done
hashes=
for d in $deps; do
	hashes="$hashes $dir/$d/.pkghash"
done
[ -z "$hashes" ] || redo-ifchange $hashes
{
	cat "$dir/build"
	for h in $hashes; do cat "$h"; done
} | sha256sum | cut -d' ' -f1
