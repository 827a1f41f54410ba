# packaging/install.cmake: the part of `cmake --install` that depends on where the
# install goes (the prefix given at install time: `cmake --install build --prefix DIR`):
#   - the configuration file DIR/etc/kinerja/kinerja.conf (/etc/kinerja for the prefixes
#     / and /usr, /etc/opt/P for /opt/P, as GNUInstallDirs): the reference config
#     (config/kinerja.conf) with its key paths made absolute under that directory;
#     a file already there is never overwritten (the new one goes beside it as .new);
#   - the systemd units (one per binary and worker role, kinerja-migrate, kinerja.target),
#     tmpfiles.d, logrotate and profile.d files, with those paths written in.
# Run by the install script CMakeLists.txt generates (install(CODE) sets the KINERJA_*
# variables first). Every file goes through file(INSTALL), so DESTDIR and the install
# manifest work as for any other installed file.

cmake_policy(VERSION 3.18) # an install script runs with no policies set: "@VAR@" must stay text

set(prefix "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "/+$" "" prefix "${prefix}")

# GNUInstallDirs' rules for the "FULL" sysconfdir and localstatedir, applied to the
# install-time prefix (the configure-time FULL_* variables would miss --prefix).
function(kinerja_full_dir rel out)
  if(IS_ABSOLUTE "${rel}")
    set(dir "${rel}")
  elseif(prefix STREQUAL "" OR prefix STREQUAL "/usr")
    set(dir "/${rel}")
  elseif(prefix MATCHES "^/opt/")
    set(dir "/${rel}${prefix}")
  else()
    set(dir "${prefix}/${rel}")
  endif()
  set(${out} "${dir}" PARENT_SCOPE)
endfunction()
function(kinerja_prefixed rel out)
  if(IS_ABSOLUTE "${rel}")
    set(${out} "${rel}" PARENT_SCOPE)
  else()
    set(${out} "${prefix}/${rel}" PARENT_SCOPE)
  endif()
endfunction()

kinerja_full_dir("${KINERJA_SYSCONFDIR}" SYSCONFDIR)
kinerja_full_dir("${KINERJA_LOCALSTATEDIR}" LOCALSTATEDIR)
kinerja_prefixed("${KINERJA_BINDIR}" BINDIR)
kinerja_prefixed("${KINERJA_DOCDIR}" DOCDIR)
kinerja_prefixed("${KINERJA_SYSTEMD_UNITDIR}" UNITDIR)
kinerja_prefixed("${KINERJA_TMPFILESDIR}" TMPFILESDIR)
kinerja_prefixed("${KINERJA_SYSUSERSDIR}" SYSUSERSDIR)
set(CONFIG_DIR "${SYSCONFDIR}/kinerja")
set(CONFIG_FILE "${CONFIG_DIR}/kinerja.conf")
set(LOG_DIR "${LOCALSTATEDIR}/log/kinerja")
set(pkg "${KINERJA_SOURCE_DIR}/packaging")
set(stage "${KINERJA_BINARY_DIR}/packaging-stage")
file(REMOVE_RECURSE "${stage}")
file(MAKE_DIRECTORY "${stage}")

# Writes template `in` (@VAR@ from the variables above; @SANDBOX@: systemd/sandbox.conf)
# to ${stage}/${rel}.
function(kinerja_stage in rel)
  file(READ "${in}" text)
  string(REPLACE "@SANDBOX@" "${SANDBOX}" text "${text}")
  string(CONFIGURE "${text}" text @ONLY)
  if(text MATCHES "@[A-Z_]+@")
    message(FATAL_ERROR "${in}: ${CMAKE_MATCH_0} left unreplaced")
  endif()
  file(WRITE "${stage}/${rel}" "${text}")
endfunction()

set(rw_r OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
set(rw_g OWNER_READ OWNER_WRITE GROUP_READ)

# ---- the configuration file and the key directories -------------------------------------
file(READ "${KINERJA_SOURCE_DIR}/config/kinerja.conf" conf)
string(REGEX REPLACE "^# Kinerja reference configuration[^\n]*\n" "" conf "${conf}")
string(REPLACE "= var/curve/" "= ${CONFIG_DIR}/curve/" conf "${conf}")
string(REPLACE "= var/web/" "= ${CONFIG_DIR}/web/" conf "${conf}")
if(conf MATCHES "= var/[^\n]*")
  message(FATAL_ERROR "config/kinerja.conf: a relative path the install does not place: ${CMAKE_MATCH_0}")
endif()
set(conf "# Kinerja configuration, installed by cmake --install from config/kinerja.conf (the
# reference configuration) with the key files under ${CONFIG_DIR}.
# The daemons and the CLI find it through KINERJA_CONFIG: the systemd units set it,
# ${SYSCONFDIR}/profile.d/kinerja.sh does for login shells. Reinstalling never
# overwrites this file: a newer reference goes beside it as kinerja.conf.new.
# Secrets (redis.url with a password, notify.webhook_secret) may go to
# ${CONFIG_DIR}/kinerja.env instead (KINERJA_SECTION_KEY=value lines, read by the units).
${conf}")
file(MAKE_DIRECTORY "${stage}/etc" "${stage}/keys/curve" "${stage}/keys/web")
if(EXISTS "$ENV{DESTDIR}${CONFIG_FILE}")
  file(READ "$ENV{DESTDIR}${CONFIG_FILE}" old)
  if(NOT old STREQUAL conf)
    file(WRITE "${stage}/etc/kinerja.conf.new" "${conf}")
    file(INSTALL "${stage}/etc/kinerja.conf.new" DESTINATION "${CONFIG_DIR}" PERMISSIONS ${rw_g})
    message(STATUS "Kept $ENV{DESTDIR}${CONFIG_FILE} (it differs from this reference); the reference is beside it as kinerja.conf.new")
  endif()
else()
  file(WRITE "${stage}/etc/kinerja.conf" "${conf}")
  file(INSTALL "${stage}/etc/kinerja.conf" DESTINATION "${CONFIG_DIR}" PERMISSIONS ${rw_g})
endif()
# Empty: `kinerja keygen --out` fills them (docs/OPERATIONS.md "Keys").
file(INSTALL "${stage}/keys/curve" "${stage}/keys/web" DESTINATION "${CONFIG_DIR}"
     DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE)

# ---- systemd units, tmpfiles.d, sysusers.d -----------------------------------------------
file(READ "${pkg}/systemd/sandbox.conf" SANDBOX)
string(STRIP "${SANDBOX}" SANDBOX)
file(MAKE_DIRECTORY "${stage}/units" "${stage}/tmpfiles" "${stage}/logrotate" "${stage}/profile")
foreach(unit kinerja-broker.service kinerja-web.service kinerja-migrate.service kinerja.target)
  kinerja_stage("${pkg}/systemd/${unit}.in" units/${unit})
endforeach()
foreach(pair "ingest|stream entries to the PostgreSQL event log, exactly once"
             "score|scores, predikat, IKM and score versions"
             "notify|notifications on ZeroMQ PUB and the signed webhook"
             "schedule|scheduled jobs: recalc, period close, reminders, housekeeping")
  string(REPLACE "|" ";" pair "${pair}")
  list(GET pair 0 ROLE)
  list(GET pair 1 ROLE_WHAT)
  kinerja_stage("${pkg}/systemd/kinerja-worker.service.in" units/kinerja-worker-${ROLE}.service)
endforeach()
file(GLOB staged_units "${stage}/units/*")
file(INSTALL ${staged_units} DESTINATION "${UNITDIR}" PERMISSIONS ${rw_r})

kinerja_stage("${pkg}/tmpfiles.d/kinerja.conf.in" tmpfiles/kinerja.conf)
file(INSTALL "${stage}/tmpfiles/kinerja.conf" DESTINATION "${TMPFILESDIR}" PERMISSIONS ${rw_r})
file(INSTALL "${pkg}/sysusers.d/kinerja.conf" DESTINATION "${SYSUSERSDIR}" PERMISSIONS ${rw_r})

# ---- logrotate (installs without systemd), profile.d ---------------------------------------
kinerja_stage("${pkg}/logrotate/kinerja.in" logrotate/kinerja)
file(INSTALL "${stage}/logrotate/kinerja" DESTINATION "${SYSCONFDIR}/logrotate.d" PERMISSIONS ${rw_r})
kinerja_stage("${pkg}/profile.d/kinerja.sh.in" profile/kinerja.sh)
file(INSTALL "${stage}/profile/kinerja.sh" DESTINATION "${SYSCONFDIR}/profile.d" PERMISSIONS ${rw_r})
