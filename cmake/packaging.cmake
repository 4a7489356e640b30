# Install rules and the Debian package (`cpack -G DEB` in the build folder).
# The package holds the binary, the example config as a conffile, the systemd
# unit, the nginx snippet and the operations guide; maintainer scripts in
# cmake/deb/ create the `herald` system user the unit runs as.
include(GNUInstallDirs)

install(TARGETS herald RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# Absolute destinations: /etc and the unit folder do not move with the prefix.
install(FILES ${PROJECT_SOURCE_DIR}/etc/herald.json DESTINATION /etc/herald
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(FILES ${PROJECT_SOURCE_DIR}/etc/systemd/herald.service
        DESTINATION /usr/lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/etc/nginx/herald.conf
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/herald/examples RENAME nginx-herald.conf)
install(FILES ${PROJECT_SOURCE_DIR}/etc/herald.md ${PROJECT_SOURCE_DIR}/docs/operations.md
              ${PROJECT_SOURCE_DIR}/docs/protocol.md ${PROJECT_SOURCE_DIR}/docs/auth.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/herald)

set(CPACK_PACKAGE_NAME herald)
set(CPACK_PACKAGE_VENDOR herald)
set(CPACK_PACKAGE_CONTACT "herald maintainers <herald@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "HTTP notification server: SSE, es-web-notify streams and long polling")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_STRIP_FILES ON)  # debug info stays in the build folder
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# Dependencies from the binary's shared libraries (dpkg-shlibdeps), so the
# package asks for exactly the libevent/libmicrohttpd/... it was built with.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS adduser)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/cmake/deb/conffiles
    ${PROJECT_SOURCE_DIR}/cmake/deb/postinst
    ${PROJECT_SOURCE_DIR}/cmake/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
