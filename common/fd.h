/* fd: descriptor plumbing that subprocess and the process pool share.
 *
 *   fd_above_stdio(fd)   keep a descriptor of the library's off 0, 1 and 2
 *
 * A program may start with stdin, stdout or stderr closed; the next
 * descriptor it opens then lands on 0, 1 or 2. A library descriptor there
 * would be taken for stdin by every child that inherits it, or overwritten
 * when a child's stdin is set up (dup2 onto 0 closes what was on 0). So the
 * library moves each descriptor it keeps above 2 first.
 */
#ifndef COMMON_FD_H
#define COMMON_FD_H

/* Returns fd itself if it is above 2; otherwise a close-on-exec duplicate at
 * 3 or above, after closing fd. -1 with errno set (EMFILE) if no duplicate
 * could be made; fd is closed then too. */
int fd_above_stdio(int fd);

#endif
