/**
 * Commands the detector knows. A command name outside these lists (and not a path into the
 * project such as `./run.sh`) is an unknown executable: clause 8 sends it to the sandbox.
 * Knowing a command does not make it local: the rules and the engine's checks still apply
 * (`rm` is known, `rm -rf ~` is sandboxed).
 */

/** Standard utilities and shell builtins. */
export const STANDARD_UTILITIES = `
ls ll la dir vdir cat tac echo printf pwd cd head tail wc sort uniq cut tr grep egrep fgrep zgrep rg ag ack sed awk gawk mawk nawk
find xargs diff diff3 sdiff cmp comm paste join tee touch mkdir rmdir cp mv rm ln chmod stat file which whereis type date cal env
printenv whoami id groups hostname uname uptime free df du ps top htop btop pgrep pidof lsof pstree vmstat iostat mpstat nproc lscpu
lsblk lsusb lspci lsmod dmesg journalctl last w who true false test [ [[ sleep seq basename dirname realpath readlink md5sum sha1sum
sha256sum sha512sum shasum cksum b2sum base32 base64 xxd od hexdump strings less more most tree jq yq xq gojq column fold fmt nl rev
split csplit tar zip unzip gzip gunzip zcat bzip2 bunzip2 bzcat xz unxz xzcat zstd unzstd lz4 7z 7za unrar curl wget ping ping6 dig nslookup host
traceroute tracepath mtr whois netstat ss ip ifconfig arp openssl gpg time timeout nice ionice nohup watch clear reset tput stty locale
man info help apropos whatis alias unalias export unset set shopt source . exit return read wait jobs bg fg disown trap ulimit umask
declare typeset local readonly let eval exec getopts hash pushd popd dirs shift break continue : command builtin enable caller
compgen complete logout suspend kill truncate mktemp install expand unexpand numfmt factor expr bc dc units yes tee iconv dos2unix unix2dos
file mimetype shuf comm tsort ptx look sum dd sync stdbuf fmt pr bat batcat fd fdfind exa eza lsd highlight entr fzf delta tldr cheat
dos2unix column envsubst gettext ngettext tty mesg script scriptreplay logger getent nslookup ldd objdump nm readelf size addr2line
strace ltrace gdb lldb valgrind perf pmap free sar iotop nethogs iftop tcpdump tshark nmap httpstat hyperfine flock setsid chrt taskset
numactl sha224sum sha384sum rhash xargs parallel pv progress rsync scp sftp unshare lsns watch cmp patch diffstat colordiff wdiff vimdiff
vi vim nvim nano emacs ed ex view code subl micro pico hx helix kak joe mcedit
`;

/** Well-known developer tools (languages, build systems, linters, package managers, clouds). */
export const DEVELOPER_TOOLS = `
git gh glab hub tig lazygit git-lfs pre-commit husky lint-staged commitlint
node nodejs npm npx pnpm pnpx yarn bun bunx deno tsx ts-node tsc tsserver esbuild swc vite vitest jest mocha ava tap playwright cypress
webpack rollup parcel turbo nx lerna rush changeset eslint prettier biome oxlint stylelint standard xo next nuxt astro svelte-kit remix gatsby ng vue
storybook nodemon pm2 concurrently wrangler vercel netlify firebase serve http-server live-server
python python2 python3 py pip pip2 pip3 pipx uv uvx poetry pipenv pdm hatch flit twine conda mamba micromamba virtualenv venv pyenv tox nox
pytest py.test coverage ruff black isort flake8 pylint mypy pyright pyre bandit autopep8 yapf pycodestyle pydocstyle sphinx-build mkdocs
jupyter ipython django-admin flask uvicorn gunicorn celery alembic streamlit
make gmake cmake ninja meson bazel bazelisk buck scons autoconf automake autoreconf configure libtool pkg-config gcc g++ cc c++ clang clang++
clang-format clang-tidy cpp ld as ar ranlib strip objcopy gdb lldb valgrind ccache
rustc cargo rustup rustfmt rust-analyzer clippy-driver go gofmt goimports golangci-lint gopls dlv
java javac jar jshell mvn gradle kotlin kotlinc scala sbt groovy ant
dotnet csc mono msbuild nuget
ruby gem bundle bundler rake rails rspec rubocop irb erb
php composer phpunit artisan
perl cpan cpanm prove lua luarocks R Rscript julia swift swiftc xcodebuild xcrun elixir mix iex erl rebar3 ghc ghci cabal stack zig nim crystal dart flutter
docker docker-compose podman podman-compose nerdctl buildah skopeo kubectl oc k helm kustomize minikube kind k3d eksctl skaffold tilt argocd flux istioctl stern k9s kubectx kubens
terraform tofu terragrunt pulumi cdk cdktf packer vagrant ansible ansible-playbook ansible-galaxy serverless sls sam
aws gcloud gsutil bq az doctl heroku fly flyctl railway supabase s3cmd rclone mc
psql pg_dump pg_restore pg_isready createdb dropdb mysql mysqldump mariadb sqlite3 sqlcmd mongosh mongo mongodump redis-cli valkey-cli cqlsh clickhouse-client
ssh ssh-keygen ssh-add ssh-keyscan ssh-copy-id scp sftp rsync
brew apt apt-get apt-cache aptitude dpkg dpkg-query rpm yum dnf apk pacman zypper snap flatpak nix nix-env nix-shell
nvm fnm volta n asdf mise rtx sdk corepack rbenv goenv jenv
systemctl service journalctl crontab launchctl sysctl update-alternatives hostnamectl timedatectl localectl mount history lsattr getfacl
shellcheck shfmt hadolint yamllint actionlint markdownlint jsonlint taplo editorconfig-checker codespell typos cspell
ffmpeg ffprobe convert magick identify pandoc latexmk pdflatex xelatex lualatex pdftotext pdfinfo graphviz dot plantuml mermaid mmdc
protoc buf grpcurl openapi-generator swagger-codegen
http https xh httpie ab wrk hey k6 vegeta locust
`;

function words(list: string): Set<string> {
  return new Set(list.split(/\s+/).filter(Boolean));
}

export const KNOWN_COMMANDS: ReadonlySet<string> = new Set([...words(STANDARD_UTILITIES), ...words(DEVELOPER_TOOLS)]);
